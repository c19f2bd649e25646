// libattn4j.so is attn4j_core linked whole; this unit only gives the shared target a source.
#include "attn4j.h"
