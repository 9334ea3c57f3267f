/* main.c - the chatter command line; placeholder until the CLI lands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("chatter %s\n", CHATTER_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: chatter --version\n");
    return 2;
}
