package media

const loadGenEnv = "OBZVON_MEDIA_LOADGEN"

func runLoadGenerator() int { return 0 }
