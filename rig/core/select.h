/* Order statistics without sorting: the k-th smallest of an array in
 * expected linear time (Hoare's quickselect with a median-of-three pivot),
 * reordering the array so that v[k] holds it, everything before it is <=
 * and everything after it >=. Medians and percentiles of whole captures
 * were the analysis's largest cost when they were sorts. Pure. */
#ifndef RIG_CORE_SELECT_H
#define RIG_CORE_SELECT_H

#include <stddef.h>
#include <stdint.h>

/* k < n. */
int32_t select_i32(int32_t *v, size_t n, size_t k);
double select_double(double *v, size_t n, size_t k);

/* The median (the mean of the two middle values when n is even); n > 0. */
double median_i32(int32_t *v, size_t n);
double median_double(double *v, size_t n);

#endif
