"""Serial sensors: TF-Luna lidar counter, MaxBotix snow gauge, Vaisala WXT530 weather."""
