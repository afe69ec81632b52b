/*
 * pymod_gui.c - the seed's last line, `refbrowser_gui.InteractiveBrowser(
 * root).main()`: "click through all referrers of the root object".  Pympler
 * opens a Tk window; we take a snapshot and hand it to the offline tool:
 * with a terminal, `muppy browse DUMP ROOT` runs in the foreground on it
 * (the referrers of root, then every other view) and main() returns when
 * the user quits; without one, `muppy report DUMP --root ROOT -o
 * DUMP.html` writes the page, opened on root, and main() prints and
 * returns its path.
 *
 * The type is muppy.refbrowser.InteractiveBrowser and, the same object,
 * muppy.refbrowser_gui.InteractiveBrowser.
 *
 * Design notes:
 *   1. The dump must show root's real holders, not ours: while the
 *      snapshot is taken the browser drops its own reference to root
 *      (a C local keeps it alive, which the walk cannot see), so the
 *      InteractiveBrowser is never among root's referrers.
 *   2. The tool is found without Python: MUPPY_TOOL, else beside the
 *      library (`muppy`, `../tools/muppy` as Bazel lays them out,
 *      `../bin/muppy` as an install does), else on PATH.  It runs through
 *      posix_spawn (no fork hooks, no copy of a big heap) with the GIL
 *      released while we wait, so the program's other threads go on.
 */
#include <dlfcn.h>    /* dladdr */
#include <errno.h>    /* errno */
#include <fcntl.h>    /* O_WRONLY */
#include <limits.h>   /* PATH_MAX */
#include <spawn.h>    /* posix_spawn */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* getenv */
#include <string.h>   /* strrchr, strlen, strcmp */
#include <sys/wait.h> /* waitpid */
#include <unistd.h>   /* access, isatty */

#include "shim/pymod/pymod.h"

extern char **environ;

struct pm_ibrowser {
	char head[PY_HEAD_SIZE];
	py_object *root;
	py_object *str_func;
	py_object *repeat;
	ssize_t maxdepth;
};

static py_object *pm_ib_type;

/* ---- the tool (note 2) -------------------------------------------------- */

static int
is_tool(const char *path)
{
	return path && *path && access(path, X_OK) == 0;
}

static int
find_on_path(char *out, size_t n)
{
	const char *p = getenv("PATH");

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len && snprintf(out, n, "%.*s/muppy", (int)len, p) <
		    (int)n && is_tool(out))
			return 0;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* The tool's path into out; -1 if there is none. */
static int
find_tool(char *out, size_t n)
{
	static const char *const beside[] = {"muppy", "../tools/muppy",
					     "../bin/muppy"};
	const char *env = getenv("MUPPY_TOOL");
	Dl_info info;

	if (env && *env) {
		snprintf(out, n, "%s", env);
		return is_tool(out) ? 0 : -1;
	}
	if (dladdr((void *)&find_tool, &info) && info.dli_fname) {
		const char *slash = strrchr(info.dli_fname, '/');
		int dir = slash ? (int)(slash - info.dli_fname) : 0;

		for (size_t k = 0; k < sizeof beside / sizeof beside[0]; k++)
			if (snprintf(out, n, "%.*s/%s", dir, info.dli_fname,
				     beside[k]) < (int)n && slash &&
			    is_tool(out))
				return 0;
	}
	return find_on_path(out, n);
}

/* Runs argv to its end with the GIL released; its exit status, or -1
 * with errno set if it could not start.  quiet: its stdout goes to
 * /dev/null (the report's "wrote" line is ours to print, on sys.stdout). */
static int
run_tool(char *const argv[], int quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status = 0;
	void *ts;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
						 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	ts = py.PyEval_SaveThread();
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	py.PyEval_RestoreThread(ts);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- InteractiveBrowser -------------------------------------------------- */

static int
ib_init(py_object *obj, py_object *args, py_object *kw)
{
	struct pm_ibrowser *self = (struct pm_ibrowser *)obj;
	static char *kwlist[] = {"rootobject", "maxdepth", "str_func", "repeat",
				 NULL};
	py_object *root, *str_func = NULL, *repeat = NULL;
	ssize_t maxdepth = 3;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|nOO:InteractiveBrowser",
					     kwlist, &root, &maxdepth,
					     &str_func, &repeat))
		return -1;
	pm_incref(root);
	pm_decref(self->root);
	self->root = root;
	self->maxdepth = maxdepth;
	pm_decref(self->str_func);
	self->str_func = str_func ? (pm_incref(str_func), str_func) : NULL;
	pm_decref(self->repeat);
	self->repeat = repeat ? (pm_incref(repeat), repeat) : NULL;
	return 0;
}

static void
ib_dealloc(py_object *self)
{
	struct pm_ibrowser *b = (struct pm_ibrowser *)self;

	pm_decref(b->root);
	pm_decref(b->str_func);
	pm_decref(b->repeat);
	pm_free_instance(self);
}

/* The snapshot, taken while only a C local holds root (note 1). */
static int
ib_snapshot(struct pm_ibrowser *self, char *out, size_t n)
{
	py_object *root = self->root;
	int rc;

	self->root = NULL;
	rc = pm_dump_now("api", NULL, out, n);
	self->root = root;
	return rc;
}

/* The report's name: the dump's, .dump replaced by .html. */
static void
report_path(const char *dump, char *out, size_t n)
{
	size_t len = strlen(dump);

	if (len > 5 && strcmp(dump + len - 5, ".dump") == 0)
		len -= 5;
	snprintf(out, n, "%.*s.html", (int)len, dump);
}

static py_object *
ib_main(py_object *obj, py_object *args, py_object *kw)
{
	struct pm_ibrowser *self = (struct pm_ibrowser *)obj;
	static char *kwlist[] = {"standalone", NULL};
	char dump[PATH_MAX + 1], tool[PATH_MAX + 1], html[PATH_MAX + 8];
	char addr[32], msg[PATH_MAX + 128];
	py_object *standalone = NULL;
	int terminal = isatty(0) && isatty(1), rc;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:main", kwlist,
					     &standalone))
		return NULL;
	if (find_tool(tool, sizeof tool) != 0)
		return pm_err(py.PyExc_RuntimeError, "muppy.refbrowser_gui: "
			      "the muppy tool was not found (MUPPY_TOOL, beside "
			      "libmuppy.so, or on PATH)");
	rc = ib_snapshot(self, dump, sizeof dump);
	if (rc == -ENOSYS)
		return pm_err(py.PyExc_RuntimeError, "muppy.refbrowser_gui: "
			      "the shim cannot take snapshots in this process");
	if (rc != 0) {
		errno = -rc;
		return py.PyErr_SetFromErrnoWithFilename(*py.PyExc_OSError,
							 NULL);
	}
	snprintf(addr, sizeof addr, "0x%lx", (unsigned long)(uintptr_t)
		 self->root);
	report_path(dump, html, sizeof html);
	{
		char *browse[] = {tool, "browse", dump, addr, NULL};
		char *report[] = {tool, "report", dump, "--root", addr, "-o",
				  html, NULL};
		rc = run_tool(terminal ? browse : report, !terminal);
	}
	if (rc != 0) {
		snprintf(msg, sizeof msg, "muppy.refbrowser_gui: `muppy %s` "
			 "%s %d", terminal ? "browse" : "report",
			 rc < 0 ? "could not start: errno" : "exited with",
			 rc < 0 ? errno : rc);
		return pm_err(py.PyExc_RuntimeError, msg);
	}
	if (terminal)
		return pm_none();
	snprintf(msg, sizeof msg, "muppy: no terminal: the browser is the "
		 "report %s\n", html);
	if (pm_write(NULL, msg, strlen(msg)) != 0)
		return NULL;
	return py.PyUnicode_FromString(html);
}

static struct py_methoddef ib_methods[] = {
	{"main", PY_CFUNC(ib_main), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "main(standalone=False)\n--\n\n"
	 "Takes a snapshot and browses root's referrers in it: `muppy "
	 "browse` on the terminal until you quit (returns None), or without "
	 "a terminal writes `muppy report`'s page and returns its path."},
	{NULL, NULL, 0, NULL}
};

static struct py_memberdef ib_members[] = {
	{"root", PY_T_OBJECT, offsetof(struct pm_ibrowser, root), 0, NULL},
	{"str_func", PY_T_OBJECT, offsetof(struct pm_ibrowser, str_func), 0,
	 NULL},
	{"repeat", PY_T_OBJECT, offsetof(struct pm_ibrowser, repeat), 0, NULL},
	{"maxdepth", PY_T_PYSSIZET, offsetof(struct pm_ibrowser, maxdepth), 0,
	 NULL},
	{NULL, 0, 0, 0, NULL}
};

static struct py_type_slot ib_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)ib_init},
	{PY_tp_dealloc, (void *)ib_dealloc},
	{PY_tp_methods, ib_methods},
	{PY_tp_members, ib_members},
	{PY_tp_doc, "InteractiveBrowser(rootobject, maxdepth=3, str_func=None, "
		    "repeat=True)\n\nThe referrers of rootobject, browsed in "
		    "a snapshot by the muppy tool (main())."},
	{0, NULL}
};

static struct py_type_spec ib_spec = {
	"muppy.refbrowser.InteractiveBrowser", (int)sizeof(struct pm_ibrowser),
	0, PY_TPFLAGS_DEFAULT, ib_slots
};

int
pm_add_interactive_browser(py_object *m)
{
	if (pm_ib_type) {
		pm_incref(pm_ib_type);
		return py.PyModule_AddObject(m, "InteractiveBrowser",
					     pm_ib_type) == 0 ? 0 :
		       (pm_decref(pm_ib_type), -1);
	}
	return pm_add_type(m, "InteractiveBrowser", &ib_spec, &pm_ib_type);
}

static struct py_moduledef pm_gui_def = {
	.ob_refcnt = 1,
	.m_name = "muppy.refbrowser_gui",
	.m_doc = "InteractiveBrowser: the seed's refbrowser_gui, on the "
		 "terminal (muppy browse) or as a report.",
	.m_size = -1,
};

py_object *
pm_refbrowser_gui_module(void)
{
	py_object *m = pm_module_new(&pm_gui_def);

	if (m && pm_add_interactive_browser(m) != 0) {
		pm_decref(m);
		return NULL;
	}
	return m;
}
