/* test_sdnotify.c -- the systemd notification protocol, received on a real datagram socket:
 * from the module itself, and from the real daemon (READY=1 once it serves, STOPPING=1 once a
 * SIGTERM begins the shutdown, exit 0) as systemd would see them under Type=notify. */
#include "os/sdnotify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct listener {
    int fd;
    char dir[64];
    char path[96];
} listener;

static int setup(void **state)
{
    listener *l = calloc(1, sizeof *l);
    snprintf(l->dir, sizeof l->dir, "/tmp/tt-sdnotify.XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    snprintf(l->path, sizeof l->path, "%s/notify", l->dir);
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(l->fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", l->path);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", l->path, 1);
    *state = l;
    return 0;
}

static int teardown(void **state)
{
    listener *l = *state;
    close(l->fd);
    unlink(l->path);
    rmdir(l->dir);
    unsetenv("NOTIFY_SOCKET");
    free(l);
    return 0;
}

/* The next datagram within 'ms', NUL-terminated in 'buf'; false if none came. */
static bool next_message(listener *l, char *buf, size_t len, int ms)
{
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) {
        return false;
    }
    ssize_t n = recv(l->fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0;
}

static void the_module_sends_each_message(void **state)
{
    listener *l = *state;
    char buf[512];
    sdnotify_ready("serving on x");
    assert_true(next_message(l, buf, sizeof buf, 5000));
    assert_string_equal(buf, "READY=1\nSTATUS=serving on x");
    sdnotify_stopping("draining");
    assert_true(next_message(l, buf, sizeof buf, 5000));
    assert_string_equal(buf, "STOPPING=1\nSTATUS=draining");
    sdnotify_status("shipping");
    assert_true(next_message(l, buf, sizeof buf, 5000));
    assert_string_equal(buf, "STATUS=shipping");
}

static void without_notify_socket_nothing_is_sent(void **state)
{
    listener *l = *state;
    unsetenv("NOTIFY_SOCKET");
    sdnotify_ready("nobody listens");
    char buf[64];
    assert_false(next_message(l, buf, sizeof buf, 200));
}

/* Reads datagrams until one contains 'want' (within 'ms' each); false otherwise. */
static bool wait_for(listener *l, const char *want, int ms)
{
    char buf[512];
    while (next_message(l, buf, sizeof buf, ms)) {
        if (strstr(buf, want) != NULL) {
            return true;
        }
    }
    return false;
}

static void the_daemon_says_ready_then_stopping_and_exits_0(void **state)
{
    listener *l = *state;
    char store[160];
    snprintf(store, sizeof store, "sqlite:%s/events.db", l->dir);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, STDERR_FILENO);
        execl(TT_BINARY, TT_BINARY, "serve", "--listen", "127.0.0.1:0", "--store", store,
              (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    assert_true(wait_for(l, "READY=1", 20000));
    kill(pid, SIGTERM);
    assert_true(wait_for(l, "STOPPING=1", 20000));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char side[200];
    snprintf(side, sizeof side, "%s/events.db", l->dir);
    unlink(side);
    snprintf(side, sizeof side, "%s/events.db-wal", l->dir);
    unlink(side);
    snprintf(side, sizeof side, "%s/events.db-shm", l->dir);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_module_sends_each_message, setup, teardown),
        cmocka_unit_test_setup_teardown(without_notify_socket_nothing_is_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(the_daemon_says_ready_then_stopping_and_exits_0, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("sdnotify", tests, NULL, NULL);
}
