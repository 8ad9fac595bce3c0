/* tsan_canary.c -- a deliberate data race, built only in the ThreadSanitizer tree.
 *
 * `make tsan` runs it first and requires ThreadSanitizer to report it (exit status 66): the
 * proof that a race in telltale would fail the run, so that "zero reports" means something. */
#include <pthread.h>
#include <stdio.h>

static long shared_counter; /* written by two threads without a lock: the race */

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        shared_counter++;
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, bump, NULL);
    pthread_create(&b, NULL, bump, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", shared_counter);
    return 0;
}
