/* The software's identity, for --version and for run records: the release
 * version (meson project version) and the VCS commit it was built from
 * ("git describe --always --dirty": an abbreviated commit hash, "-dirty"
 * when the tree had uncommitted changes; "unknown" outside a git tree). */
#ifndef RIG_VERSION_VERSION_H
#define RIG_VERSION_VERSION_H

#include <stdbool.h>

const char *rig_version(void);
const char *rig_vcs(void);
/* The commit alone (rig_vcs without "-dirty"). */
const char *rig_vcs_commit(void);
/* True when built from a tree with uncommitted changes. */
bool rig_vcs_dirty(void);

#endif
