/* rigctl's station database commands: history, unit, stats and import
 * through rigd's API (docs/API.md), printed as tables, or with --json as
 * the lines rigd sent (the greeting, then the reply). */
#ifndef RIG_CTL_DB_H
#define RIG_CTL_DB_H

#include "ctl/ctl_args.h"

/* a->cmd is CTL_CMD_HISTORY, _UNIT, _STATS or _IMPORT. Returns a ctl_exit
 * code: 0 answered, 2 rigd refused or failed, 69 rigd not reachable. */
int ctl_db_command(const struct ctl_args *a);

#endif
