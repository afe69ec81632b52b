/*
 * main.c - the process entry point of the `muppy` tool, and nothing else.
 *
 * All of the command line lives in muppy_main() (tools/muppy.c: the command
 * table and dispatch). Keeping main() alone in this file lets the unit tests
 * in tests/ link every command through //tools:muppy_lib (every tools .c
 * file but this one) and call muppy_main() with their own argv.
 */
#include "tools/muppy.h"   /* muppy_main */

int
main(int argc, char **argv)
{
    return muppy_main(argc, argv);
}
