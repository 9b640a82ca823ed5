"""An independent chapter-3 server: a grading fixture, written from COURSE_SPEC.md only.

It is deliberately unlike the course's reference solution (see ../README.md): the wire
tests must give it full marks, which proves they grade the spec and not one way of
writing it.
"""
