/*
 * helper_loopback.h - for unit tests of any module that play a peer on
 * loopback. Linked into every unit test.
 */
#ifndef HELPER_LOOPBACK_H
#define HELPER_LOOPBACK_H

/*
 * A socket listening on 127.0.0.1 at a free port, set in *port. Fails the
 * test (Criterion) on any error.
 */
int loopback_listen(int *port);

#endif
