# SPDX-License-Identifier: MIT
# Writes OUT: a C++ file defining NAME (default kConfigSchemaText) with the bytes of SCHEMA.
if(NOT NAME)
  set(NAME kConfigSchemaText)
endif()
file(READ ${SCHEMA} text HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${text}")
file(WRITE ${OUT} "// Generated from ${SCHEMA}; do not edit.\nnamespace hoard::daemon {\nextern const char ${NAME}[];\nconst char ${NAME}[] = {${bytes} 0x00};\n}\n")
