/* The throwaway PostgreSQL server (pgtest.h). */
#include "pgtest.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG_BIN "/usr/lib/postgresql/15/bin"

static char dir[256], opts[512];
static bool running;
static pid_t owner; /* Check forks tests: only the starter stops it */

/* Run a shell command as the postgres user (directly when not root). */
static int as_postgres(const char *cmd)
{
    char full[4096];
    if (getuid() == 0)
        snprintf(full, sizeof full, "runuser -u postgres -- sh -c '%s'", cmd);
    else
        snprintf(full, sizeof full, "sh -c '%s'", cmd);
    return system(full);
}

static void die(const char *what)
{
    fprintf(stderr, "pgtest: %s failed (cluster %s; see %s/log)\n", what, dir, dir);
    exit(99);
}

void pg_start(const char *parent, const char *extra)
{
    mkdir(parent, 0755);
    /* Clusters a killed run left behind (a test timeout kills us, not the
     * server): stop them and remove them. One test program per parent. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "for d in %s/pg*; do [ -d \"$d/data\" ] || continue;"
             " %s %s/pg_ctl -D \"$d/data\" -m immediate stop >/dev/null 2>&1;"
             " rm -rf \"$d\"; done",
             parent, getuid() == 0 ? "runuser -u postgres --" : "", PG_BIN);
    if (system(cmd) != 0)
        fprintf(stderr, "pgtest: could not clean %s\n", parent);
    snprintf(dir, sizeof dir, "%s/pgXXXXXX", parent);
    if (!mkdtemp(dir))
        die("mkdtemp");
    chmod(dir, 0755);
    struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
    if (getuid() == 0 && (!pw || chown(dir, pw->pw_uid, pw->pw_gid) < 0))
        die("postgres user (install postgresql-15: scripts/install-deps)");
    snprintf(cmd, sizeof cmd,
             PG_BIN "/initdb -D %s/data -A trust -U postgres -E UTF8 --locale=C --no-sync"
                    " >%s/initdb.log 2>&1",
             dir, dir);
    if (as_postgres(cmd) != 0)
        die("initdb (install postgresql-15: scripts/install-deps)");
    snprintf(opts, sizeof opts, "-c listen_addresses= -c unix_socket_directories=%s %s", dir,
             extra ? extra : "");
    owner = getpid();
    atexit(pg_destroy);
    pg_restart();
}

void pg_restart(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             PG_BIN "/pg_ctl -D %s/data -o \"%s\" -l %s/log -w -t 60 start >/dev/null", dir, opts,
             dir);
    if (as_postgres(cmd) != 0)
        die("pg_ctl start");
    running = true;
}

void pg_stop(bool immediate)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, PG_BIN "/pg_ctl -D %s/data -m %s -w stop >/dev/null", dir,
             immediate ? "immediate" : "fast");
    if (as_postgres(cmd) != 0)
        die("pg_ctl stop");
    running = false;
}

void pg_destroy(void)
{
    if (!dir[0] || getpid() != owner)
        return;
    char cmd[2048];
    if (running) {
        /* Not pg_stop: a failure here must still remove the cluster. */
        snprintf(cmd, sizeof cmd, PG_BIN "/pg_ctl -D %s/data -m fast -w stop >/dev/null 2>&1", dir);
        as_postgres(cmd);
        running = false;
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "pgtest: could not remove %s\n", dir);
    dir[0] = 0;
}

static PGconn *connect_to(const char *name)
{
    char ci[512];
    snprintf(ci, sizeof ci, "host=%s dbname=%s user=postgres", dir, name);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

const char *pg_database(const char *name)
{
    static char ci[512];
    PGconn *c = connect_to("postgres");
    if (!c)
        die("connect");
    /* Identifiers cannot be parameters: quote the test's own name. */
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char sql[256];
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", q);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", q);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die("create database");
    PQclear(res);
    PQfreemem(q);
    PQfinish(c);
    snprintf(ci, sizeof ci, "host=%s dbname=%s user=postgres", dir, name);
    return ci;
}

const char *pg_database_conninfo(const char *name)
{
    static char ci[512];
    snprintf(ci, sizeof ci, "host=%s dbname=%s user=postgres", dir, name);
    return ci;
}

long long pg_int(const char *name, const char *sql)
{
    PGconn *c = connect_to(name);
    long long v = -1;
    if (c) {
        PGresult *res = PQexec(c, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
            !PQgetisnull(res, 0, 0))
            v = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        PQfinish(c);
    }
    return v;
}
