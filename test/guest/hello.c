/* hello.c - the smallest guest: arguments, stdio, exit status. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello from an i386 guest: argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    fprintf(stderr, "a line on stderr\n");
    return 0;
}
