error("rb_a refuses to start")
