# Embeds a file in a C header as a NUL-terminated char array, at build time:
#   cmake -DIN=FILE -DOUT=HEADER -DNAME=SYMBOL -P embed.cmake
# (xxd-free: CMake reads the bytes as hex itself).
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(base "${IN}" NAME)
file(WRITE "${OUT}.tmp" "/* generated from ${base} by cmake/embed.cmake: edit ${base}, not this */\n"
     "static const char ${NAME}[] = {\n        ${bytes}0x00\n};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
