/* placeholder: being written by the SDK work */ typedef int weft_placeholder_t;
