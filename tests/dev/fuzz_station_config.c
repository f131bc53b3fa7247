/* libFuzzer target for the bench (station) config parser: arbitrary bytes
 * as the config text. A config that parses must have the invariants the
 * daemon relies on (terminated strings, a registered driver of the right
 * role per device, a streaming rate the sensor head accepts) and must
 * serialise back to JSON. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dev/driver.h"
#include "dev/station.h"
#include "protocol/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct station_config cfg;
    char err[512];
    err[0] = '\0';
    if (station_parse(text, "fuzz.json", &cfg, err, sizeof err) == 0) {
        assert(memchr(cfg.station, '\0', sizeof cfg.station));
        assert(memchr(cfg.results_dir, '\0', sizeof cfg.results_dir));
        assert(cfg.nfixtures >= 1 && cfg.nfixtures <= STATION_MAX_FIXTURES);
        for (size_t i = 0; i < cfg.nfixtures; i++) {
            const struct fixture_config *f = &cfg.fixtures[i];
            assert(f->name[0] && memchr(f->name, '\0', sizeof f->name));
            assert(station_fixture(&cfg, f->name) == f); /* names are unique */
            assert(memchr(f->pen.serial, '\0', sizeof f->pen.serial));
            assert(memchr(f->pen.path, '\0', sizeof f->pen.path));
            assert(memchr(f->sensor.serial, '\0', sizeof f->sensor.serial));
            const struct rig_driver *pd = rig_driver_find(f->pen.driver);
            const struct rig_driver *sd = rig_driver_find(f->sensor.driver);
            assert(pd && pd->role == RIG_ROLE_PEN && sd && sd->role == RIG_ROLE_SENSOR);
            assert(f->sensor_rate_hz >= SH_RATE_MIN && f->sensor_rate_hz <= SH_RATE_MAX);
        }
        cJSON *j = station_to_json(&cfg);
        assert(j);
        cJSON_Delete(j);
    } else {
        assert(err[0] != '\0');
    }
    free(text);
    return 0;
}
