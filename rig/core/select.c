/* Quickselect (see select.h). */
#include "core/select.h"

/* One implementation for both element types. */
#define DEFINE_SELECT(name, T)                                                                     \
    T name(T *v, size_t n, size_t k)                                                               \
    {                                                                                              \
        size_t lo = 0, hi = n - 1;                                                                 \
        while (lo < hi) {                                                                          \
            size_t mid = lo + (hi - lo) / 2;                                                       \
            /* median of three as the pivot: sorted inputs stay linear */                          \
            T a = v[lo], b = v[mid], c = v[hi];                                                    \
            T pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));       \
            size_t i = lo, j = hi;                                                                 \
            while (i <= j) {                                                                       \
                while (v[i] < pivot)                                                               \
                    i++;                                                                           \
                while (v[j] > pivot)                                                               \
                    j--;                                                                           \
                if (i <= j) {                                                                      \
                    T t = v[i];                                                                    \
                    v[i] = v[j];                                                                   \
                    v[j] = t;                                                                      \
                    i++;                                                                           \
                    if (j == 0)                                                                    \
                        break;                                                                     \
                    j--;                                                                           \
                }                                                                                  \
            }                                                                                      \
            /* now v[lo..j] <= pivot <= v[i..hi], and j < i */                                     \
            if (k <= j)                                                                            \
                hi = j;                                                                            \
            else if (k >= i)                                                                       \
                lo = i;                                                                            \
            else                                                                                   \
                return v[k];                                                                       \
        }                                                                                          \
        return v[k];                                                                               \
    }

DEFINE_SELECT(select_i32, int32_t)
DEFINE_SELECT(select_double, double)

double median_i32(int32_t *v, size_t n)
{
    double upper = select_i32(v, n, n / 2);
    if (n % 2)
        return upper;
    /* the lower middle is the largest of the lower part */
    int32_t lower = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lower)
            lower = v[i];
    return (lower + upper) / 2;
}

double median_double(double *v, size_t n)
{
    double upper = select_double(v, n, n / 2);
    if (n % 2)
        return upper;
    double lower = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lower)
            lower = v[i];
    return (lower + upper) / 2;
}
