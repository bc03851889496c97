/*
 * filemap.c FILE - maps FILE privately and shared read-only, checks that
 * the mapping equals what read(2) gives, that the bytes past the end of
 * the file in its last page read as zero, that a store to the private
 * mapping stays private, and prints a checksum.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return 2;
    size_t size = (size_t)st.st_size;
    size_t maplen = (size + 4095) & ~(size_t)4095;
    unsigned char *priv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    unsigned char *shared = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (priv == MAP_FAILED || shared == MAP_FAILED)
        return 3;
    unsigned char *copy = malloc(size);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, copy + got, size - got);
        if (n <= 0)
            return 4;
        got += (size_t)n;
    }
    uint32_t sum = 0;
    for (size_t i = 0; i < size; i++)
        sum = sum * 31 + priv[i];
    int tail_zero = 1;
    for (size_t i = size; i < maplen; i++)
        tail_zero &= priv[i] == 0;
    printf("size %zu, %zu pages\n", size, maplen / 4096);
    printf("checksum %08x\n", (unsigned)sum);
    printf("private mapping equals read(2): %s\n", memcmp(priv, copy, size) ? "no" : "yes");
    printf("shared mapping equals read(2): %s\n", memcmp(shared, copy, size) ? "no" : "yes");
    printf("bytes past the end read zero: %s\n", tail_zero ? "yes" : "no");
    priv[5000] ^= 0xff;
    printf("private store stays private: %s\n",
           shared[5000] == copy[5000] && priv[5000] == (unsigned char)(copy[5000] ^ 0xff) ? "yes"
                                                                                          : "no");
    /* A second private mapping of the same file sees the file, not the store. */
    unsigned char *again = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("second mapping sees the file: %s\n", again[5000] == copy[5000] ? "yes" : "no");
    munmap(priv, size);
    munmap(shared, size);
    munmap(again, size);
    close(fd);
    return 0;
}
