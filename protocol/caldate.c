#include "protocol/caldate.h"

uint32_t caldate_utc(time_t t)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return 0;
    return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

bool caldate_overdue(uint32_t due, uint32_t today)
{
    return due != 0 && today > due;
}
