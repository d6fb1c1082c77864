/* A c-ares load generator doing what `loadgen` does against the bench zone
 * (benches/end_to_end.rs): for each lookup, SRV for `_im._xmpp.<domain>` and
 * `_im._sip.<domain>` at once; the lookup ends when both are answered and
 * parsed. (NSD puts the targets' addresses in the additional section, so
 * `loadgen` asks nothing more either.) One thread, epoll, c-ares' own socket
 * callbacks; no cache (c-ares 1.18 has none).
 *
 *   cc -O2 -o cares_load cares_load.c -lcares
 *   ./cares_load IP PORT CONCURRENCY COUNT DOMAINS
 *
 * Prints `lookups/s: X`, `cpu-us/lookup: Y` and `failed: N`, as loadgen does.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static int epfd;
static long started, ended, failed, count, domains;
static ares_channel channel;

struct lookup {
    int pending;
    int ok;
};

static void sock_state(void *data, ares_socket_t fd, int readable, int writable) {
    (void)data;
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
    if (!readable && !writable) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    } else if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void start_one(void);

static void answered(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    (void)timeouts;
    struct lookup *l = arg;
    if (status == ARES_SUCCESS) {
        struct ares_srv_reply *srv = NULL;
        if (ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
            ares_free_data(srv);
        } else {
            l->ok = 0;
        }
    } else {
        l->ok = 0;
    }
    if (--l->pending == 0) {
        ended++;
        if (!l->ok) failed++;
        free(l);
        if (started < count) start_one();
    }
}

static void start_one(void) {
    char name[128];
    long d = started % domains;
    started++;
    struct lookup *l = malloc(sizeof *l);
    l->pending = 2;
    l->ok = 1;
    snprintf(name, sizeof name, "_im._xmpp.d%ld.bench.example", d);
    ares_query(channel, name, ns_c_in, ns_t_srv, answered, l);
    snprintf(name, sizeof name, "_im._sip.d%ld.bench.example", d);
    ares_query(channel, name, ns_c_in, ns_t_srv, answered, l);
}

static double seconds(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: cares_load IP PORT CONCURRENCY COUNT DOMAINS\n");
        return 1;
    }
    long concurrency = atol(argv[3]);
    count = atol(argv[4]);
    domains = atol(argv[5]);
    ares_library_init(ARES_LIB_INIT_ALL);
    struct ares_options opts = {0};
    opts.sock_state_cb = sock_state;
    opts.timeout = 2000;
    opts.tries = 3;
    opts.flags = ARES_FLAG_NOCHECKRESP;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    if (ares_init_options(&channel, &opts, mask) != ARES_SUCCESS) return 2;
    char servers[64];
    snprintf(servers, sizeof servers, "%s:%s", argv[1], argv[2]);
    if (ares_set_servers_ports_csv(channel, servers) != ARES_SUCCESS) return 2;
    epfd = epoll_create1(0);
    struct timespec t0, t1;
    struct rusage r0, r1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getrusage(RUSAGE_SELF, &r0);
    while (started < concurrency && started < count) start_one();
    struct epoll_event events[64];
    while (ended < count) {
        struct timeval tv, *tvp = ares_timeout(channel, NULL, &tv);
        int ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) + 1 : 1000;
        int n = epoll_wait(epfd, events, 64, ms);
        if (n <= 0) {
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            continue;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            ares_process_fd(channel, (events[i].events & EPOLLIN) ? fd : ARES_SOCKET_BAD,
                            (events[i].events & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = seconds(r1.ru_utime) - seconds(r0.ru_utime) + seconds(r1.ru_stime) - seconds(r0.ru_stime);
    printf("failed: %ld\n", failed);
    printf("lookups/s: %.0f\n", ended / wall);
    printf("cpu-us/lookup: %.1f\n", cpu * 1e6 / ended);
    ares_destroy(channel);
    ares_library_cleanup();
    return 0;
}
