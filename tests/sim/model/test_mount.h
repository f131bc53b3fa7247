/* The mount and session tests (test_mount.c), run by test_model.c. */
#ifndef TESTS_SIM_MODEL_TEST_MOUNT_H
#define TESTS_SIM_MODEL_TEST_MOUNT_H

#include <check.h>

TCase *mount_tcase(void);

#endif
