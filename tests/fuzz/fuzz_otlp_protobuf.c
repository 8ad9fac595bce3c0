/* fuzz_otlp_protobuf.c -- libFuzzer target for the OTLP protobuf decoder (protobuf-c behind
 * telltale's nesting and UTF-8 guards) and the mapping of what it decodes to events; the checks are
 * otlp_fuzz.h's.
 *
 * The first byte picks the signal (traces, logs, metrics), the rest is the body. */
#include "otlp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return otlp_fuzz_one(OTLP_PROTOBUF, data, size);
}
