"""Student training: the train stage's recipe, its checks against the database, model artifacts."""
