# SPDX-License-Identifier: MIT
# What a Debian package of hoard holds beyond the programs, the unit and the
# D-Bus files (installed by their own folders): man pages (from doc/*.scd
# with scdoc), the bash completion, the JSON Schemas, an example config and
# the copyright and changelog Debian wants; and CPack's DEB generator, with
# dependencies from dpkg-shlibdeps. `bash scripts/package.sh` drives it.

find_program(SCDOC scdoc)
find_program(GZIP gzip REQUIRED)
set(HOARD_MAN_PAGES hoard.1 hoardd.8 hoard-config.5 hoard-lister.1)
set(HOARD_MAN_OUT ${PROJECT_BINARY_DIR}/man)
if(SCDOC)
  set(man_outputs)
  foreach(page ${HOARD_MAN_PAGES})
    string(REGEX MATCH "[0-9]$" section ${page})
    set(src ${PROJECT_SOURCE_DIR}/doc/${page}.scd)
    set(out ${HOARD_MAN_OUT}/${page})
    add_custom_command(
      OUTPUT ${out} ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${HOARD_MAN_OUT}
      COMMAND ${SCDOC} < ${src} > ${out}
      COMMAND ${GZIP} -9n -c ${out} > ${out}.gz
      DEPENDS ${src}
      COMMENT "Generating the man page ${page}")
    list(APPEND man_outputs ${out}.gz)
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_outputs})
else()
  message(STATUS "scdoc not found: no man pages (apt-get install scdoc)")
endif()

install(FILES ${PROJECT_SOURCE_DIR}/completion/hoard.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME hoard)
install(FILES ${PROJECT_SOURCE_DIR}/schemas/config.schema.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/hoard/schemas)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/cli/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/hoard/schemas/cli FILES_MATCHING PATTERN "*.json")
install(FILES ${PROJECT_SOURCE_DIR}/doc/examples/config.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Debian's copyright file and a compressed changelog.
set(HOARD_DEB_DOC ${PROJECT_BINARY_DIR}/debian-doc)
file(MAKE_DIRECTORY ${HOARD_DEB_DOC})
string(TIMESTAMP HOARD_BUILD_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in ${HOARD_DEB_DOC}/changelog
               @ONLY)
add_custom_command(
  OUTPUT ${HOARD_DEB_DOC}/changelog.gz
  COMMAND ${GZIP} -9n -c ${HOARD_DEB_DOC}/changelog > ${HOARD_DEB_DOC}/changelog.gz
  DEPENDS ${HOARD_DEB_DOC}/changelog)
add_custom_target(debian_doc ALL DEPENDS ${HOARD_DEB_DOC}/changelog.gz)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright ${HOARD_DEB_DOC}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hoard)
set(CPACK_PACKAGE_VENDOR "hoard developers")
set(CPACK_PACKAGE_CONTACT "hoard developers <hoard@hoard-project.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "disconnected operation on network filesystems")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "hoard keeps a pinned working set of a network filesystem (NFS, SMB, AFS,
sshfs, Ceph, 9p) available offline, records every local change while the
network is away and, on reconnect, replays those changes three-way against
the last agreed state, turning overlaps into conflicts to resolve. hoardd is
the daemon on the D-Bus session bus, hoard its command line.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install with DESTDIR so that CMAKE_INSTALL_PREFIX is /usr while installing:
# the unit and the activation file then name /usr/bin/hoardd.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # hoard_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dbus-user-session")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/hoard")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
