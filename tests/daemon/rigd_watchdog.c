/* rigd under a systemd-style service manager: it must send READY=1 and then
 * keep pinging WATCHDOG=1 while its loop runs (WatchdogSec= in
 * data/rigd.service.in), so a hung daemon gets killed and the pen's own
 * watchdog stops the motor. The test plays the service manager: a datagram
 * socket as NOTIFY_SOCKET, WATCHDOG_USEC of 300 ms. No devices are needed.
 *
 * usage: rigd_watchdog RIGD STATION_CONFIG */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rigd_watchdog RIGD STATION_CONFIG\n");
        return 2;
    }
    char dir[] = "/tmp/rigd-watchdog-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char notify[sizeof dir + 16], api[sizeof dir + 16];
    snprintf(notify, sizeof notify, "%s/notify", dir);
    snprintf(api, sizeof api, "%s/rigd.sock", dir);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", notify);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("notify socket");
        return 2;
    }

    pid_t pid = fork();
    if (pid == 0) {
        char wpid[32];
        snprintf(wpid, sizeof wpid, "%d", (int)getpid());
        setenv("NOTIFY_SOCKET", notify, 1);
        setenv("WATCHDOG_USEC", "300000", 1);
        setenv("WATCHDOG_PID", wpid, 1);
        execl(argv[1], argv[1], "--config", argv[2], "--socket", api, (char *)NULL);
        _exit(127);
    }

    int ready = 0, pings = 0;
    double end = now_s() + 3.0;
    while (now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = '\0';
        /* one datagram may carry several newline-separated assignments */
        for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n")) {
            if (strcmp(line, "READY=1") == 0)
                ready++;
            else if (strcmp(line, "WATCHDOG=1") == 0 && ready)
                pings++;
        }
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(notify);
    unlink(api);
    rmdir(dir);

    printf("READY=1 x%d, WATCHDOG=1 x%d in 3 s (WATCHDOG_USEC 300 ms)\n", ready, pings);
    if (ready != 1) {
        fprintf(stderr, "FAIL: expected exactly one READY=1\n");
        return 1;
    }
    /* sd-event pings at about half the interval: ~20 in 3 s. Ask for far
     * fewer so a loaded machine cannot fail the test. */
    if (pings < 3) {
        fprintf(stderr, "FAIL: rigd did not keep the watchdog alive\n");
        return 1;
    }
    return 0;
}
