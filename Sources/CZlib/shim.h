// zlib's public header, from the Debian package `zlib1g-dev` (tools/setup installs it):
// the IDX reader inflates gzip data sets with it.
#include <zlib.h>
