-- semispace.lua -- one copying space: every collection evacuates the survivors.
plan "semispace" {
  extends = "marksweep",
  doc = "One copying space: survivors are evacuated, allocation is a pointer bump.",
  pools = {
    main = copy { },                  -- replaces marksweep's mark-sweep space
  },
}
