print("sitecustomize: base-python")
