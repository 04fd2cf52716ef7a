-- manual.lua -- no collector: every block is freed by the client.
plan "manual" {
  doc = "Manual pools only: variable-size blocks (mvff) and fixed-size cells (mfs).",
  arena = { reserve = "4GB" },
  pools = {
    manual = mvff { },
    cells  = mfs { unit_size = 64 },
  },
  roles = { objects = "manual", leaf = "manual", large = "manual", manual = "manual",
            cells = "cells" },
  barrier = "none",                   -- nothing to remember: no collector
}
