"""Fashion-MNIST: download with MD5, IDX parsing, the prepared artifact and its views
(Stacked Fashion-MNIST), image files in and out."""
