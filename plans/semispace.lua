-- semispace.lua -- one copying space: every collection evacuates the survivors.
plan "semispace" {
  doc = "One copying space: survivors are evacuated, allocation is a pointer bump.",
  arena = { reserve = "16GB" },
  pools = {
    main   = copy { },
    manual = mvff { },
  },
  roles = { objects = "main", leaf = "main", large = "main", manual = "manual",
            weak = { pool = "main", rank = "weak" } },
  barrier = "card",
  trigger = { growth = 1.5 },
}
