/* sdnotify.c -- libsystemd's sd_notify() with telltale's three messages. */
#include "os/sdnotify.h"

#include <systemd/sd-daemon.h>

void sdnotify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void sdnotify_stopping(const char *status)
{
    sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

void sdnotify_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status);
}
