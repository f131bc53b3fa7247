/* `rigctl sync`: the line store's outbox of a station database, and one
 * sync pass to the line's PostgreSQL (local: it reads the station database
 * file, not rigd); or, without --station-db, rigd's sync state. */
#ifndef RIG_CTL_CTL_SYNC_H
#define RIG_CTL_CTL_SYNC_H

/* rigctl's argv: if its command is "sync" (after --socket PATH and
 * --json, if any), runs it and returns a CTL_EXIT_* code; else -1. */
int ctl_sync_dispatch(int argc, char **argv);

#endif
