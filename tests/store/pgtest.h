/* A throwaway PostgreSQL server for the line store's tests and benchmark:
 * a cluster under the build directory, run as the postgres user when we
 * are root (initdb refuses root), Unix socket only. */
#ifndef TESTS_STORE_PGTEST_H
#define TESTS_STORE_PGTEST_H

#include <stdbool.h>

/* initdb a new cluster under parent and start it; extra: more
 * "-c name=value" server options (NULL: none). Exits on failure. */
void pg_start(const char *parent, const char *extra);
/* Start the cluster again after pg_stop. */
void pg_restart(void);
/* Stop it: immediate (a crash: no checkpoint, clients cut) or fast. */
void pg_stop(bool immediate);
/* Stop it if running and remove the cluster. */
void pg_destroy(void);
/* Create database name (fresh) and return its conninfo (static buffer). */
const char *pg_database(const char *name);
/* The conninfo of database name (created before). */
const char *pg_database_conninfo(const char *name);
/* One integer from SQL on database name (-1 on error). */
long long pg_int(const char *name, const char *sql);

#endif
