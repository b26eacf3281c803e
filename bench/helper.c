/*
 * bench-helper: the small static program the benchmark uses to time things.
 *
 *   bench-helper time [-q] [-t TAG] [-g FD] -- CMD [ARGS...]
 *       fork, exec CMD, wait4 it; then print one line on stderr:
 *       "@@bench TAG wall_ns=N utime_us=N stime_us=N maxrss_kb=N status=N
 *        start_ns=N end_ns=N"   (start/end: CLOCK_MONOTONIC)
 *       and exit with CMD's exit status (128+N for a signal).
 *       -q sends CMD's stdout to /dev/null.
 *       -g FD: first wait until FD (the read end of a pipe) reads EOF, so
 *       that many helpers can be released at the same moment.
 *       Times and maxrss are those wait4 returns for CMD: its own plus those
 *       of the descendants it reaped. Because this parent is a tiny static
 *       program, the child's ru_maxrss starts from almost nothing (a fork of
 *       a Python interpreter would start at the interpreter's RSS, which the
 *       kernel carries over exec into ru_maxrss).
 *
 *   bench-helper forkexec N PATH [ARGS...]
 *       N times: fork, execv(PATH), wait. Exit 1 if any child fails.
 *
 *   bench-helper true
 *       exit 0.
 *
 * The same binary runs on the host and inside the containers, so in-container
 * and host figures come from the same code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long tv_us(struct timeval tv)
{
    return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench-helper time [-q] [-t TAG] -- CMD [ARGS...]\n"
            "       bench-helper forkexec N PATH [ARGS...]\n"
            "       bench-helper true\n");
    return 2;
}

static int do_time(int argc, char **argv)
{
    int quiet = 0;
    int gate = -1;
    const char *tag = "-";
    int i = 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            tag = argv[++i];
        else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc)
            gate = atoi(argv[++i]);
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            break;
    }
    if (i >= argc)
        return usage();
    char **cmd = argv + i;

    if (gate >= 0) {
        char c;
        for (;;) {
            ssize_t n = read(gate, &c, 1);
            if (n > 0 || (n < 0 && errno == EINTR))
                continue;
            break;
        }
        close(gate);
    }
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench-helper: fork");
        return 125;
    }
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (fd >= 0)
                dup2(fd, 1);
        }
        execvp(cmd[0], cmd);
        fprintf(stderr, "bench-helper: exec %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t r = wait4(pid, &st, 0, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("bench-helper: wait4");
            return 125;
        }
    }
    long long t1 = now_ns();
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fprintf(stderr,
            "@@bench %s wall_ns=%lld utime_us=%lld stime_us=%lld maxrss_kb=%ld status=%d start_ns=%lld end_ns=%lld\n",
            tag, t1 - t0, tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss, code, t0, t1);
    return code;
}

static int do_forkexec(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    long n = strtol(argv[2], NULL, 10);
    char **cmd = argv + 3;
    for (long k = 0; k < n; k++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench-helper: fork");
            return 1;
        }
        if (pid == 0) {
            execv(cmd[0], cmd);
            _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0) {
            if (errno != EINTR) {
                perror("bench-helper: waitpid");
                return 1;
            }
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench-helper: %s failed (status 0x%x)\n", cmd[0], st);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "time") == 0)
        return do_time(argc, argv);
    if (strcmp(argv[1], "forkexec") == 0)
        return do_forkexec(argc, argv);
    if (strcmp(argv[1], "true") == 0)
        return 0;
    return usage();
}
