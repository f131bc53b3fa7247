/* `rigctl sync`: the line store's outbox of a station database, and one
 * sync pass to the line's PostgreSQL. Local: it reads the station
 * database file, not rigd. */
#ifndef RIG_CTL_CTL_SYNC_H
#define RIG_CTL_CTL_SYNC_H

/* argv[0] is "sync". Returns a CTL_EXIT_* code. */
int ctl_sync_main(int argc, char **argv);

#endif
