/* Run records and their capture attachments (schema: docs/RECORD.md).
 *
 * A record is a cJSON tree the executor builds as it goes; record_write()
 * replaces the file atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory), so a reader or a crash sees either the
 * previous or the new version, never a torn file.
 *
 * Capture attachment ("rig-capture/1", raw), little-endian:
 *   off  size  field
 *     0     8  magic "RIGCAP\0\1"
 *     8     4  u32 version (1)
 *    12     4  u32 header_size (48)
 *    16     8  f64 rate_hz (IEEE 754)
 *    24     8  u64 first_sample (sensor sample index of frame 0)
 *    32     8  u64 count (sample frames)
 *    40     4  u32 flags (AN_F_*)
 *    44     4  u32 reserved (0)
 *    48  8*count frames: i32 force_uN, i32 displacement_nm
 *
 * "rig-capture/2" (compressed, lossless; the default the record file sink
 * writes): the same first 44 bytes with version 2 and header_size 64, then
 *    44     4  u32 transform (1: per-channel step-scaled first difference,
 *                zigzag, byte planes; docs/RECORD.md)
 *    48     4  u32 force step,  52  4  u32 displacement step
 *    56     8  u64 length of the zstd frame that follows (= file size - 64)
 *    64     .  one zstd frame of exactly 8*count bytes (the byte planes)
 */
#ifndef RIG_CORE_RECORD_H
#define RIG_CORE_RECORD_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/digest.h"

#define RECORD_FORMAT                  "rig-record/1"
/* Records, attachments and the directories rigd makes for them: the
 * station's group (operators, engineers) may read them, the world may not,
 * whatever the process umask (docs/RECORD.md). */
#define RECORD_FILE_MODE               0640
#define RECORD_DIR_MODE                0750
#define CAPTURE_MAGIC                  "RIGCAP\0\1"
#define CAPTURE_HEADER_SIZE            48
#define CAPTURE2_HEADER_SIZE           64
/* Formats capture_encode() writes. */
#define CAPTURE_FORMAT_RAW             1 /* rig-capture/1 */
#define CAPTURE_FORMAT_ZSTD            2 /* rig-capture/2 */
#define CAPTURE_TRANSFORM_DELTA_PLANES 1
/* zstd level 3 (zstd's default): within 1 % of level 9's size on sensor
 * data at a tenth of the time (docs/RECORD.md, figures in the commit). */
#define CAPTURE_ZSTD_LEVEL             3
/* The most frames a capture file may hold (512 MiB of samples, 22 minutes
 * at 50 kHz): a decoder refuses a header that asks for more before it
 * allocates anything. */
#define CAPTURE_MAX_FRAMES             (1u << 26)

/* A capture as the sensor delivered it. Arrays are malloc'd; free with
 * capture_free(). */
struct rig_capture {
    int32_t *force_un, *disp_nm;
    size_t n;
    double rate_hz;
    uint64_t first_sample; /* same timebase as rig_ops.capture_mark */
    uint32_t flags;        /* AN_F_* */
};

void capture_free(struct rig_capture *c);

/* Write buf to path atomically (temp + fsync + rename + fsync dir).
 * Returns 0 or -errno with a message in err. */
int atomic_write_file(const char *path, const void *buf, size_t len, char *err, size_t errlen);
/* Flags for the _flags variants: */
#define AW_NO_REPLACE   0x1u /* fail with -EEXIST if path exists (never overwrite) */
#define AW_RECREATE_DIR 0x2u /* the directory vanished: create it again and write */
/* No fsync of the file nor of its directory: the rename is still atomic, so
 * a reader or a crash of the process sees the previous or the new version
 * (the kernel has both), but a power loss may leave the previous one. For
 * versions a later, synced write supersedes (a run's mid-run records). */
#define AW_NO_SYNC      0x4u
int atomic_write_file_flags(const char *path, const void *buf, size_t len, unsigned flags,
                            char *err, size_t errlen);

/* Serialise a record (pretty-printed) and write it atomically. */
int record_write(const char *path, const cJSON *record, char *err, size_t errlen);
int record_write_flags(const char *path, const cJSON *record, unsigned flags, char *err,
                       size_t errlen);
/* Read a record back; NULL with a message if missing or not JSON. */
cJSON *record_read(const char *path, char *err, size_t errlen);

/* Write a capture attachment atomically (rig-capture/1) and return its
 * SHA-256. */
int capture_write(const char *path, const struct rig_capture *c, char sha256[DIGEST_HEX_LEN + 1],
                  char *err, size_t errlen);
int capture_write_flags(const char *path, const struct rig_capture *c, unsigned flags,
                        char sha256[DIGEST_HEX_LEN + 1], char *err, size_t errlen);
/* The same in a format (CAPTURE_FORMAT_*); samples_sha256 (if not NULL):
 * the SHA-256 of the raw frames (capture_samples_sha256). */
int capture_write_format(const char *path, const struct rig_capture *c, int format, unsigned flags,
                         char sha256[DIGEST_HEX_LEN + 1], char samples_sha256[DIGEST_HEX_LEN + 1],
                         char *err, size_t errlen);
/* The file's bytes in a format (malloc'd into *buf), and the samples' hash
 * (if not NULL). 0 or -errno with a message. */
int capture_encode(const struct rig_capture *c, int format, uint8_t **buf, size_t *len,
                   char samples_sha256[DIGEST_HEX_LEN + 1], char *err, size_t errlen);
/* SHA-256 over the frames exactly as rig-capture/1 lays them out (8 bytes
 * a frame, no header): the record's "samples_sha256", the same whatever
 * the file's format. 0 or -errno. */
int capture_samples_sha256(const struct rig_capture *c, char out[DIGEST_HEX_LEN + 1]);
/* Parse a capture file's bytes (either version; name for messages).
 * Robust to any input: 0, or -errno with why in err. */
int capture_decode(const char *name, const uint8_t *buf, size_t len, struct rig_capture *out,
                   char *err, size_t errlen);
/* Read one back (either version; checks magic, version, sizes). */
int capture_read(const char *path, struct rig_capture *out, char *err, size_t errlen);

/* Per-stroke values of a capture as CSV text (malloc'd, NUL-terminated;
 * NULL if out of memory): a header line, then one line per stroke:
 *   stroke,rise_s,peak_s,depth_mm,peak_force_n,steady
 * times in seconds from the capture's first sample, "" for a missing
 * force. Deterministic (%.9g), so recomputing gives the same bytes. */
struct an_stroke;
struct an_result;
char *strokes_csv(const struct an_stroke *s, size_t n, double rate_hz);

/* obj[key] = v as a JSON number that reads back as exactly v (the
 * shortest of %.15g..%.17g that does: cJSON alone prints 15 digits, which
 * can lose the last bits, and a record must recompute bit for bit), or
 * null when v is not finite. */
void record_add_number(cJSON *obj, const char *key, double v);

/* A capture's "flags", "error" (when it cannot be judged) and "analysis"
 * members (docs/RECORD.md) into the record's capture object c: written by
 * the executor, compared by recompute. */
void record_put_analysis(cJSON *c, const struct an_result *an, double rate_hz);

/* Random (v4) UUID, lowercase. Returns 0 or -errno. */
int record_uuid(char out[37]);
/* "2026-11-25T11:42:07.123Z" for a realtime timespec. */
void record_utc(const struct timespec *ts, char out[32]);
/* YYYYMMDD -> "YYYY-MM-DD" (or "" for 0). */
void record_date(uint32_t yyyymmdd, char out[11]);

#endif
