/*
 * main.c - the process entry point of the `muppy` tool, and nothing else.
 *
 * All of the command line lives in muppy_main() (tools/muppy.c: the command
 * table and dispatch). Keeping main() alone in this file lets the unit tests
 * in tests/ link every command through //tools:muppy_lib (every tools .c
 * file but this one) and call muppy_main() with their own argv.
 *
 * One process-wide setting is made here: large allocations always come
 * from their own mappings.  glibc otherwise raises its mmap threshold to
 * the size of each large block freed (up to 32 MB), so that the arrays
 * of a dump read and freed early (`leaks` reads each earlier dump, then
 * drops it) come back from the heap and their pages stay resident after
 * free: tens of MB of peak RSS at 5M objects.
 */
#include <malloc.h>        /* mallopt, M_MMAP_THRESHOLD */

#include "tools/muppy.h"   /* muppy_main */

int
main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    return muppy_main(argc, argv);
}
