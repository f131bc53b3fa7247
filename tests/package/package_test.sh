#!/bin/sh
# The Debian packages as a station PC gets them (issue: install it like a
# Debian service):
#   package_test.sh SRCDIR
# builds rig and rig-sim from a copy of the source tree with
# dpkg-buildpackage -us -uc -b, runs lintian (no errors allowed), unpacks
# both into a temporary root (dpkg-deb -x) and checks that every file lands
# where Debian expects it, that systemd-analyze verify accepts the unit and
# that its security exposure is at most 2.5, that the man pages render
# without warnings and the bash completion parses. Not run under ASan.
set -eu
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/rig-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "package: FAIL: $*" >&2; exit 1; }

# the source as committed plus local changes (what a release would build)
mkdir "$work/src"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
    (cd "$src" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$work/src"
fi
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
    >"$work/build.log" 2>&1) || { tail -n 30 "$work/build.log"; fail "dpkg-buildpackage"; }
for p in rig rig-sim; do
    [ -f "$work/${p}_"*"_$(dpkg --print-architecture).deb" ] || fail "no $p package"
done
lintian --fail-on error \
    "$work"/rig_*.changes >"$work/lintian.log" 2>&1 || { cat "$work/lintian.log"; fail "lintian"; }
echo "package: built rig and rig-sim; lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings"

root=$work/root
mkdir "$root"
for deb in "$work"/rig_*.deb "$work"/rig-sim_*.deb; do dpkg-deb -x "$deb" "$root"; done
for f in usr/bin/rigd usr/bin/rigctl usr/bin/rigsim \
    lib/systemd/system/rigd.service lib/systemd/system/rig-prune.service \
    lib/systemd/system/rig-prune.timer lib/udev/rules.d/60-rig.rules \
    usr/lib/sysusers.d/rig.conf usr/lib/tmpfiles.d/rig.conf etc/rig/station.json \
    usr/share/rig/sequences/eol.json usr/share/rig/specs/reference-pen.json \
    usr/share/rig/benches/default.json usr/share/bash-completion/completions/rigctl \
    usr/share/man/man8/rigd.8.gz usr/share/man/man1/rigctl.1.gz usr/share/man/man1/rigsim.1.gz \
    usr/share/man/man5/rig-station.json.5.gz usr/share/man/man5/rig-sequence.5.gz \
    usr/share/man/man5/rig-spec.5.gz usr/share/man/man5/rig-record.5.gz \
    usr/share/doc/rig/copyright usr/share/doc/rig/API.md.gz usr/share/doc/rig-sim/RIGSIM.md.gz \
    usr/bin/rigweb lib/systemd/system/rigweb.service etc/rig/web.json usr/share/man/man8/rigweb.8.gz; do
    [ -e "$root/$f" ] || fail "$f is not in the packages"
done
[ -d "$root/etc/rig/sequences" ] || fail "no /etc/rig/sequences"
# nothing under /usr/local, nothing world-writable
[ -z "$(find "$root" -path '*/usr/local*' -print -quit)" ] || fail "files under /usr/local"
[ -z "$(find "$root" -type f -perm -o+w -print -quit)" ] || fail "world-writable files"
# the unit in its package's root, with the host's units beside it
cp -a --no-clobber /lib/systemd/system/. "$root/lib/systemd/system/" 2>/dev/null || true
systemd-analyze verify --man=no --root="$root" rigd.service rigweb.service rig-prune.service rig-prune.timer >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log"; fail "systemd-analyze verify"; }
grep -q 'ExecStart=/usr/bin/rigd --config /etc/rig/station.json' "$root/lib/systemd/system/rigd.service" ||
    fail "the unit does not run /usr/bin/rigd with /etc/rig/station.json"
score=$(systemd-analyze security --offline=yes --root="$root" rigd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for rigd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no security score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "security exposure $score > 2.5"
echo "package: systemd-analyze verify ok; security exposure $score (limit 2.5)"
# rigweb: its own unit, as hardened (it serves the network)
grep -q 'ExecStart=/usr/bin/rigweb --config /etc/rig/web.json' "$root/lib/systemd/system/rigweb.service" ||
    fail "the rigweb unit does not run /usr/bin/rigweb with /etc/rig/web.json"
wscore=$(systemd-analyze security --offline=yes --root="$root" rigweb.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for rigweb.service: \([0-9.]*\).*/\1/p')
[ -n "$wscore" ] || fail "no security score for rigweb"
awk -v s="$wscore" 'BEGIN { exit !(s <= 2.5) }' || fail "rigweb security exposure $wscore > 2.5"
grep -q '^u rigweb ' "$root/usr/lib/sysusers.d/rig.conf" && grep -q '^m rigweb *rig$' "$root/usr/lib/sysusers.d/rig.conf" ||
    fail "sysusers: no rigweb user in group rig"
echo "package: rigweb.service security exposure $wscore (limit 2.5)"
for m in "$root"/usr/share/man/man*/*.gz; do
    out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$m" 2>&1 >/dev/null) || true
    [ -z "$out" ] || fail "man page $(basename "$m"): $out"
done
bash -n "$root/usr/share/bash-completion/completions/rigctl" || fail "completion does not parse"
# the completion completes
out=$(bash -c ". /usr/share/bash-completion/bash_completion 2>/dev/null
    . '$root/usr/share/bash-completion/completions/rigctl'
    COMP_WORDS=(rigctl re); COMP_CWORD=1; COMP_LINE='rigctl re'; COMP_POINT=9
    _rigctl rigctl re rigctl; echo \"\${COMPREPLY[*]}\"")
[ "$out" = "recompute" ] || fail "rigctl re<TAB> completes to '$out', not 'recompute'"
echo "package: files, unit, man pages and completion ok"
