/* sdnotify.h -- telling systemd how the daemon is doing (Type=notify units): ready once it
 * serves, stopping once a shutdown begins, and a status line. Without NOTIFY_SOCKET (not
 * under systemd) every call does nothing. Any thread. */
#ifndef TT_SDNOTIFY_H
#define TT_SDNOTIFY_H

void sdnotify_ready(const char *status);
void sdnotify_stopping(const char *status);
void sdnotify_status(const char *status);

#endif
