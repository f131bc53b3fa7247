/* The streaming receiver tests (test_pen_rx.c), run by test_pen.c in its
 * one TCase, in their place. */
#ifndef RIG_TESTS_PROTOCOL_TEST_PEN_H
#define RIG_TESTS_PROTOCOL_TEST_PEN_H

#include <check.h>

void pen_rx_add_tests(TCase *tc);

#endif
