/* rigd, the whole daemon: the header of main.c (options, signals,
 * start-up and shutdown of every bench), the top layer. No other file of
 * the daemon includes it: each includes the header of its own layer.
 *
 * The layers, bottom to top; a file calls only its own layer and the
 * ones below, and never in a circle (scripts/check-layers, the test
 * 'daemon-layers'). A lower layer tells an upper one through the hooks
 * the upper one registered on the bench (bench.h, struct bench_hooks).
 *
 *   base     log.c, devloop.c (drivers <-> sd-event), benchq.c (the
 *            bench's queue), request.c (action tables, text checks),
 *            linesync.h: linesync.c (the push to the line store)
 *   bench    bench.h: bench.c, safety.c, penstart.c, benchdev.c
 *   session  session.h: session.c (owner, busy, the queue's service)
 *   runner   runner.h, runreq.h, runner_int.h: runreq.c, runner.c,
 *            runowner.c, runops.c, runevents.c, capture.c, opbridge.c,
 *            runstore.c (the station database's part in a run)
 *   api      handlers.h: handlers.c, status.c, dbq.c (database queries)
 *   daemon   rigd.h: main.c
 */
#ifndef RIGD_RIGD_H
#define RIGD_RIGD_H

#include "daemon/bench.h"
#include "daemon/handlers.h"
#include "daemon/runner.h"
#include "daemon/session.h"

#endif
