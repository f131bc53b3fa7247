/* The parts of the simulator model's unit tests that test_model.c runs:
 * the injected faults (test_faults.c) and the bench JSON (test_params.c). */
#ifndef TESTS_SIM_MODEL_TEST_MODEL_H
#define TESTS_SIM_MODEL_TEST_MODEL_H

#include <check.h>

TCase *faults_tcase(void);
TCase *params_tcase(void);

#endif
