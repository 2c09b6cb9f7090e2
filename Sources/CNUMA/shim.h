// libnuma's public headers; installed by the Debian/Ubuntu package `libnuma-dev`
// (tools/setup installs it). Whether NUMA is usable is decided at run time with
// numa_available(); see ParallelRuntime/Memory.
#include <numa.h>
#include <numaif.h>
