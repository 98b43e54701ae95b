"""Export jobs: files of the store's data, assembled from the parts their owners write."""
