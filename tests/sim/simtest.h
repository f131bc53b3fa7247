/* simtest's scenarios kept apart from simtest.c: the fault ones
 * (simfault.c). Each returns simtest's exit status. */
#ifndef RIG_TESTS_SIM_SIMTEST_H
#define RIG_TESTS_SIM_SIMTEST_H

int scenario_fault(const char *kind);
int scenario_truth(const char *kind, const char *path);

#endif
