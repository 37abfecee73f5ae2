/*
 * config.h - the server's settings: built-in defaults, then a JSON file
 * given with --config, then command-line flags, each overriding the last.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "kk_status.h"

struct config {
	char *listen_host;    /* default 127.0.0.1 */
	int listen_port;      /* default 8443; 0 = any free port */
	char *data_dir;       /* default ./kakuin-data */
	char *policy;         /* default <data_dir>/policy.json */
	char *ca_cert;        /* import instead of generating */
	char *ca_key;         /* a file, or a pkcs11: URI (RFC 7512) */
	char *ca_pin_file;    /* the token's PIN, else KAKUIN_CA_PIN */
	char *storage;        /* default sqlite:<data_dir>/kakuin.db */
	char *base_url;       /* default https://<host>:<port> */
	char *notify;         /* notify file; default <data_dir>/notify.json
	                         when it exists */
	int threads;          /* default 128: one per open connection */
	int conns_per_addr;   /* default 16: of the threads, what one peer
	                         address may hold */
	int va_http_port;     /* http-01 validation port, default 80 */
	int va_tls_port;      /* tls-alpn-01 validation port, default 443 */
	char *va_resolver;    /* IPv4:PORT or [IPv6]:PORT of the DNS
	                         server; NULL: the system's */
	int va_timeout;       /* seconds per validation, default 10 */
	int va_allow_private; /* validation may reach non-public addresses */
	int va_max;           /* validations at a time; 0: threads / 2 */
	int va_per_account;   /* of those, one account's; 0: no limit;
	                         default 4 */
	int active;           /* requests worked on at once; 0: no limit;
	                         -1 (default): three per CPU */
};

/* Fills the built-in defaults. Release with config_clear(). */
enum kk_status config_defaults(struct config *c);
void config_clear(struct config *c);

/*
 * Reads a JSON config file ({"listen": "HOST:PORT", "data_dir", "policy",
 * "ca_cert", "ca_key", "ca_pin_file", "storage", "base_url", "threads",
 * "connections_per_address", "notify"}); unknown keys are errors. On failure
 * *err (caller frees) names the file and the key.
 */
enum kk_status config_load(struct config *c, const char *path, char **err);

/* Parses "HOST:PORT" into the listen fields; KK_EINVAL if malformed. */
enum kk_status config_set_listen(struct config *c, const char *hostport);

/* Replaces a string setting with a copy of v. */
enum kk_status config_set(char **field, const char *v);

/* Derives the defaults that depend on others (policy, storage). */
enum kk_status config_finish(struct config *c);

#endif
