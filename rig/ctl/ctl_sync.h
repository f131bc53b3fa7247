/* `rigctl sync`: the line store's outbox of a station database, and one
 * sync pass to the line's PostgreSQL (local: it reads the station database
 * file, not rigd); or, without --station-db, rigd's sync state. */
#ifndef RIG_CTL_CTL_SYNC_H
#define RIG_CTL_CTL_SYNC_H

/* argv[0] is "sync"; socket: rigctl's --socket before it (NULL: none). Returns a CTL_EXIT_* code. */
int ctl_sync_main(int argc, char **argv, const char *socket);

#endif
