/* maps: prints this process's /proc/self/maps as it was when the program
 * started its work.  The file is read whole with read(2) into a static
 * buffer before anything is printed, so stdio's buffer (malloc) does not
 * change the map it reports.  Built with gcc -m32, dynamic and PIE (gcc's
 * default), for the maps comparison of test/dynamic/maps.cmake. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 16];

int main(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) {
        perror("/proc/self/maps");
        return 1;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0) {
            perror("read /proc/self/maps");
            return 1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf) {
            fputs("maps: /proc/self/maps is larger than the buffer\n", stderr);
            return 1;
        }
    }
    close(fd);
    return fwrite(buf, 1, len, stdout) == len ? 0 : 1;
}
