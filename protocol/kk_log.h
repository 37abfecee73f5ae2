/*
 * kk_log.h - the one way Kakuin's libraries and programs log: a line on
 * stderr, "<RFC 3339 UTC time> <program>: <message>", written with a
 * single write so that lines from concurrent threads do not interleave.
 */
#ifndef KK_LOG_H
#define KK_LOG_H

/* Logs one line (at most 1 KiB, longer is cut); never pass secrets. */
void kk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
